#!/usr/bin/env bash
# Installs what the tests use besides npm packages, if it is missing, and only then:
#   - Debian packages: the independent reference tools (zxing-cpp-tools: ZXingReader; dmtx-utils:
#     dmtxread; poppler-utils: pdftoppm, pdftotext, pdfinfo; openssl), fonts for PNG labels,
#     chromium for page checks, and Java 17 + Maven for the Kafka broker;
#   - the Apache Kafka broker's jars from Maven Central (test/kafka/broker.sh fetch, cached).
# Safe to run again: with everything present it takes well under a second (plus the jar check).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have ZXingReader || need+=(zxing-cpp-tools)
have dmtxread || need+=(dmtx-utils)
{ have pdftoppm && have pdftotext && have pdfinfo; } || need+=(poppler-utils)
have openssl || need+=(openssl)
have chromium || need+=(chromium)
have java || need+=(openjdk-17-jre-headless)
have mvn || need+=(maven)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)

if ((${#need[@]})); then
  echo "test/setup.sh: installing Debian packages: ${need[*]}" >&2
  sudo=()
  if [ "$(id -u)" != 0 ]; then
    if have sudo; then sudo=(sudo); else
      echo "test/setup.sh: need root or sudo to apt-get install ${need[*]}" >&2
      exit 1
    fi
  fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

test/kafka/broker.sh fetch >/dev/null
