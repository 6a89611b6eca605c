// k6 fetches jslib modules by URL at run time; declare the one we use for the type check.
declare module 'https://jslib.k6.io/k6-utils/1.4.0/index.js' {
  export function uuidv4(): string;
}
