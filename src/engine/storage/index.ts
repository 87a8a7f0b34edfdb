export * from './backend';
export * from './keys';
export * from './retry';
export * from './local';
export * from './s3';
export * from './open';
