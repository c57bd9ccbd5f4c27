/** WebSocket wire helpers shared by the areas that scan raw frames. */
export { frameHeaderLength, framePayloadLength, MAX_FRAME_HEADER } from "./frame_header.ts";
