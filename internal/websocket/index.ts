/** WebSocket wire helpers shared by the areas that scan raw frames. */
export { encodeFrameHeader, frameHeaderLength, framePayloadLength, MAX_FRAME_HEADER, OPCODE } from "./frame_header.ts";
