/** Internal exports for tests and the fuzz targets in `test/helpers/fuzz/` (not the public face). */
export { ClientParser, type ClientOpSink, type ParserOptions } from "./parser.ts";
export { classifySubject, isValidQueueName } from "./subject.ts";
export { msgLength, writeMsg } from "./wire.ts";
