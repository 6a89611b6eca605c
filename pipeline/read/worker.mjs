// Entry of a read worker thread: TypeScript through tsx's loader (workers do not inherit it).
import { register } from 'tsx/esm/api';

register();
const worker = await import('./worker.ts');
export default worker.default;
