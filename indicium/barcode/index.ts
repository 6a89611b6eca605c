export { type ReadHit, type ReadOptions, type Region, readGrey, readImage } from './read.ts';
export * from './write.ts';
