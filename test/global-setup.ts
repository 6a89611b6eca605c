/** Once per test run: stop the shared Kafka broker at the end, if a test started it. */
import { execFileSync } from 'node:child_process';
import { BROKER, brokerEnv } from './helpers/kafka.ts';

export default function setup(): () => void {
  return () => {
    try {
      execFileSync(BROKER, ['stop', '--clean'], { env: brokerEnv, stdio: 'ignore', timeout: 60_000 });
    } catch {
      // not running
    }
  };
}
