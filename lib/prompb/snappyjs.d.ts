// Types of the pure-JavaScript snappy codec (the package ships none).
declare module 'snappyjs' {
  const snappyjs: {
    compress<T extends Uint8Array | ArrayBuffer>(input: T): T;
    uncompress<T extends Uint8Array | ArrayBuffer>(input: T, maxLength?: number): T;
  };
  export default snappyjs;
}
