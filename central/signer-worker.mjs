// Entry of the signer thread: TypeScript runs through tsx's loader here too (workers do not
// inherit the main thread's loader).
import { register } from 'tsx/esm/api';

register();
await import('./signer-worker-main.ts');
