export { createExecHandler, type ExecHandlerOptions } from './handler';
