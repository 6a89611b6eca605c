#!/usr/bin/env bash
# Fetch and run a real single-node KRaft Apache Kafka broker for tests.
# Needs only Java 17+ and Maven; the jars come from Maven Central (see pom.xml).
# Run `test/kafka/broker.sh --help` for usage.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
POM="$SCRIPT_DIR/pom.xml"

KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM" | head -n1)"
[[ -n "$KAFKA_VERSION" ]] || { echo "broker.sh: cannot read <kafka.version> from $POM" >&2; exit 1; }

KAFKA_HOME="${SIGPOST_KAFKA_HOME:-$HOME/.cache/sigpost/kafka-$KAFKA_VERSION}"
LIBS="$KAFKA_HOME/libs"
MARKER="$KAFKA_HOME/.fetched"

PORT="${SIGPOST_KAFKA_PORT:-19092}"
CONTROLLER_PORT="${SIGPOST_KAFKA_CONTROLLER_PORT:-19093}"
STATE="${SIGPOST_KAFKA_STATE:-/tmp/sigpost-kafka-$PORT}"
HOST=127.0.0.1
BOOTSTRAP="$HOST:$PORT"
PIDFILE="$STATE/broker.pid"
START_TIMEOUT="${SIGPOST_KAFKA_START_TIMEOUT:-60}"
STOP_TIMEOUT="${SIGPOST_KAFKA_STOP_TIMEOUT:-30}"
HEAP="${SIGPOST_KAFKA_HEAP:-1g}"
TOOL_HEAP="${SIGPOST_KAFKA_TOOL_HEAP:-512m}"
LOG_LEVEL="${SIGPOST_KAFKA_LOG_LEVEL:-WARN}"

if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then JAVA="$JAVA_HOME/bin/java"; else JAVA=java; fi

log() { echo "broker.sh: $*" >&2; }
die() { log "$*"; exit 1; }

usage() {
  cat <<EOF
Usage: test/kafka/broker.sh <command> [args]

Runs a single-node KRaft Apache Kafka $KAFKA_VERSION broker (combined broker +
controller) on loopback for tests. Jars are fetched from Maven Central with
Maven into a cache; only Java 17+ and Maven are needed.

Commands:
  fetch              Download the broker/tool jars into the cache (idempotent).
  start              Fetch if needed, format storage (first run only), start the
                     broker in the background and wait until it answers.
                     Prints the bootstrap address ($BOOTSTRAP) on stdout.
                     Exits 0 if it is already running.
  stop [--clean]     Stop the broker (TERM, then KILL after ${STOP_TIMEOUT}s).
                     --clean also deletes the state dir (data, logs, config).
  status             Print whether the broker runs; exit 0 if running, 3 if not.
  tool <Class> ...   Run any Kafka main class with the cached classpath, e.g.
                       tool org.apache.kafka.tools.TopicCommand --bootstrap-server $BOOTSTRAP --list
                       tool org.apache.kafka.tools.ConsoleProducer --bootstrap-server $BOOTSTRAP --topic t
                       tool org.apache.kafka.tools.ProducerPerformance --topic t --num-records 1000 \\
                            --record-size 1000 --throughput -1 --command-property bootstrap.servers=$BOOTSTRAP
  -h, --help         This text.

Environment (current value):
  SIGPOST_KAFKA_PORT             PLAINTEXT port ($PORT)
  SIGPOST_KAFKA_CONTROLLER_PORT  KRaft controller port ($CONTROLLER_PORT)
  SIGPOST_KAFKA_STATE            state dir: config, data, logs, pid ($STATE)
  SIGPOST_KAFKA_HOME             jar cache ($KAFKA_HOME)
  SIGPOST_KAFKA_START_TIMEOUT    seconds to wait for readiness ($START_TIMEOUT)
  SIGPOST_KAFKA_STOP_TIMEOUT     seconds to wait after TERM before KILL ($STOP_TIMEOUT)
  SIGPOST_KAFKA_HEAP             broker -Xmx ($HEAP)
  SIGPOST_KAFKA_TOOL_HEAP        tool -Xmx ($TOOL_HEAP)
  SIGPOST_KAFKA_LOG_LEVEL        broker root log level ($LOG_LEVEL)
  SIGPOST_MVN_ARGS               extra arguments for mvn during fetch
  JAVA_HOME                      Java to use (else java on PATH)
EOF
}

pom_hash() { sha256sum "$POM" | cut -d' ' -f1; }

is_fetched() { [[ -f "$MARKER" && "$(cat "$MARKER")" == "$(pom_hash)" && -d "$LIBS" ]]; }

do_fetch() {
  if is_fetched; then return 0; fi
  command -v mvn >/dev/null || die "mvn not found on PATH (needed to fetch the Kafka jars)"
  mkdir -p "$KAFKA_HOME"
  # Serialise concurrent fetches into the same cache.
  if command -v flock >/dev/null; then
    exec 8>"$KAFKA_HOME/.lock"
    flock 8
    if is_fetched; then exec 8>&-; return 0; fi
  fi
  log "fetching Kafka $KAFKA_VERSION jars into $LIBS (Maven Central) ..."
  local tmp="$KAFKA_HOME/libs.tmp.$$"
  rm -rf "$tmp"
  # shellcheck disable=SC2086
  if ! mvn -q -B -f "$POM" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$tmp" ${SIGPOST_MVN_ARGS:-} \
        >"$KAFKA_HOME/fetch.log" 2>&1; then
    rm -rf "$tmp"
    sed 's/\x1b\[[0-9;]*m//g' "$KAFKA_HOME/fetch.log" >&2
    die "maven fetch failed (log: $KAFKA_HOME/fetch.log)"
  fi
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  pom_hash >"$MARKER"
  log "fetched $(find "$LIBS" -name '*.jar' | wc -l) jars ($(du -sh "$LIBS" | cut -f1))"
  if command -v flock >/dev/null; then exec 8>&-; fi
}

check_java() {
  command -v "$JAVA" >/dev/null || die "java not found (Kafka $KAFKA_VERSION needs Java 17+)"
  local v
  v="$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  [[ "${v%%.*}" -ge 17 ]] 2>/dev/null || die "Kafka $KAFKA_VERSION needs Java 17+, found '$v' ($JAVA)"
}

tools_log4j() {
  # Tools log WARN+ to stderr so their stdout stays clean.
  local f="$KAFKA_HOME/tools-log4j2.properties"
  if [[ ! -f "$f" ]]; then
    cat >"$f.tmp.$$" <<'EOF'
status = error
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = STDERR
EOF
    mv "$f.tmp.$$" "$f"
  fi
  echo "$f"
}

# Sets the array TOOL_CMD to the java command line for a tool main class.
tool_cmd() {
  TOOL_CMD=("$JAVA" "-Xmx$TOOL_HEAP" -XX:+UseSerialGC -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$(tools_log4j)" -cp "$LIBS/*" "$@")
}

run_tool() { tool_cmd "$@"; "${TOOL_CMD[@]}"; }

# pid of our running broker, or nothing.
running_pid() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # Guard against PID reuse: it must be a kafka.Kafka JVM using our config.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "kafka.Kafka $STATE/server.properties" || return 1
  echo "$pid"
}

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null; }

write_config() {
  mkdir -p "$STATE/data"
  touch "$STATE/.sigpost-kafka-state"
  cat >"$STATE/server.properties" <<EOF
# Written by test/kafka/broker.sh; regenerated on every start.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$STATE/data

# Single node: every replication factor and min ISR is 1.
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Fewer internal partitions: faster first consumer-group / transaction use.
offsets.topic.num.partitions=4
transaction.state.log.num.partitions=4

# Tests create their topics explicitly (with the configs they need).
auto.create.topics.enable=false
num.partitions=1
group.initial.rebalance.delay.ms=0

# Large records (images): 10 MiB. Topics and consumers may still need their own
# max.message.bytes / maxBytesPerPartition.
message.max.bytes=10485760
replica.fetch.max.bytes=10485760
EOF
  cat >"$STATE/log4j2.properties" <<EOF
status = error
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $STATE/broker.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = $LOG_LEVEL
rootLogger.appenderRef.file.ref = FILE
logger.started.name = kafka.server.KafkaRaftServer
logger.started.level = INFO
EOF
}

do_start() {
  local pid
  if pid="$(running_pid)"; then
    log "already running (pid $pid) on $BOOTSTRAP"
    echo "$BOOTSTRAP"
    return 0
  fi
  rm -f "$PIDFILE"
  check_java
  do_fetch
  local p
  for p in "$PORT" "$CONTROLLER_PORT"; do
    if port_open "$p"; then die "port $HOST:$p is already in use by another process"; fi
  done
  write_config

  if [[ ! -f "$STATE/data/meta.properties" ]]; then
    local cluster_id
    cluster_id="$(run_tool kafka.tools.StorageTool random-uuid)"
    run_tool kafka.tools.StorageTool format --standalone -t "$cluster_id" \
      -c "$STATE/server.properties" >>"$STATE/format.log" 2>&1 \
      || { cat "$STATE/format.log" >&2; die "storage format failed"; }
  fi

  local t0=$SECONDS
  "$JAVA" "-Xmx$HEAP" "-Xms256m" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
    -Djava.awt.headless=true \
    "-Dlog4j2.configurationFile=$STATE/log4j2.properties" \
    "-Dkafka.logs.dir=$STATE" \
    -cp "$LIBS/*" kafka.Kafka "$STATE/server.properties" \
    </dev/null >>"$STATE/broker.out" 2>&1 &
  pid=$!
  echo "$pid" >"$PIDFILE"

  # Wait for the PLAINTEXT port, then for a real metadata round trip.
  tool_cmd org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --list
  local deadline=$((SECONDS + START_TIMEOUT))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PIDFILE"
      tail -n 40 "$STATE/broker.out" "$STATE/broker.log" >&2 2>/dev/null || true
      die "broker exited during startup (logs: $STATE/broker.log, $STATE/broker.out)"
    fi
    if port_open "$PORT" && \
       timeout 30 "${TOOL_CMD[@]}" >/dev/null 2>>"$STATE/readiness.log"; then
      break
    fi
    if (( SECONDS >= deadline )); then
      tail -n 40 "$STATE/broker.log" >&2 2>/dev/null || true
      die "broker not ready after ${START_TIMEOUT}s (pid $pid still running; logs: $STATE/broker.log)"
    fi
    sleep 0.5
  done
  log "Kafka $KAFKA_VERSION ready on $BOOTSTRAP (pid $pid, $((SECONDS - t0))s, state $STATE)"
  echo "$BOOTSTRAP"
}

do_stop() {
  local clean=0
  for a in "$@"; do
    case "$a" in
      --clean) clean=1 ;;
      *) die "stop: unknown argument '$a'" ;;
    esac
  done
  local pid
  if pid="$(running_pid)"; then
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      log "broker (pid $pid) did not stop in ${STOP_TIMEOUT}s; sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
      while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
    log "stopped (pid $pid)"
  else
    log "not running"
  fi
  rm -f "$PIDFILE"
  if (( clean )) && [[ -d "$STATE" ]]; then
    # Only delete a directory this script created.
    [[ -f "$STATE/.sigpost-kafka-state" ]] || die "refusing to delete $STATE: not a broker.sh state dir"
    rm -rf "$STATE"
    log "removed $STATE"
  fi
}

do_status() {
  local pid
  if pid="$(running_pid)"; then
    echo "running pid=$pid bootstrap=$BOOTSTRAP state=$STATE kafka=$KAFKA_VERSION"
  else
    echo "stopped bootstrap=$BOOTSTRAP state=$STATE kafka=$KAFKA_VERSION"
    return 3
  fi
}

cmd="${1:-}"
[[ $# -gt 0 ]] && shift
case "$cmd" in
  fetch) do_fetch; is_fetched && log "jars cached in $LIBS" ;;
  start) do_start ;;
  stop) do_stop "$@" ;;
  status) do_status ;;
  tool)
    [[ $# -ge 1 ]] || die "usage: broker.sh tool <MainClass> [args...]"
    check_java
    do_fetch
    tool_cmd "$@"
    exec "${TOOL_CMD[@]}"
    ;;
  -h|--help|help) usage ;;
  "") usage >&2; exit 2 ;;
  *) log "unknown command '$cmd'"; usage >&2; exit 2 ;;
esac
