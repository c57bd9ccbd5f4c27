/**
 * Server → client operations as bytes: MSG/HMSG lines written straight into an output buffer
 * (no intermediate strings), and the fixed protocol lines.
 */
import { decimalLength, encodeUtf8, writeLatin1, writeUint } from "./bytes.ts";

export const PING = encodeUtf8("PING\r\n");
export const PONG = encodeUtf8("PONG\r\n");
export const OK = encodeUtf8("+OK\r\n");
export const CRLF = encodeUtf8("\r\n");
/** The header block of a no-responders status message, naming the subject (as nats-server >= 2.11). */
export function noRespondersHeader(subject: string): Uint8Array {
  const head = "NATS/1.0 503\r\nNats-Subject: ";
  const b = new Uint8Array(head.length + subject.length + 4);
  let p = writeLatin1(b, 0, head);
  p = writeLatin1(b, p, subject);
  b[p++] = 0x0d;
  b[p++] = 0x0a;
  b[p++] = 0x0d;
  b[p++] = 0x0a;
  return b;
}

export function errLine(text: string): Uint8Array {
  return encodeUtf8(`-ERR '${text}'\r\n`);
}

/**
 * Bytes needed for `MSG subject sid [reply] size\r\n<payload>\r\n` (or the HMSG form when
 * hdrLen >= 0); `size` is the payload length including headers.
 */
export function msgLength(subject: string, sid: string, reply: string | undefined, hdrLen: number, size: number): number {
  // "MSG " + subject + " " + sid + " " + size + CRLF + payload + CRLF
  let n = 4 + subject.length + 1 + sid.length + 1 + decimalLength(size) + 2 + size + 2;
  if (reply !== undefined) n += reply.length + 1;
  if (hdrLen >= 0) n += 1 + decimalLength(hdrLen) + 1; // "H" + hdrLen + " "
  return n;
}

/** Writes a whole MSG/HMSG at `pos` (the caller reserved `msgLength` bytes). Returns the end. */
export function writeMsg(
  buf: Uint8Array,
  pos: number,
  subject: string,
  sid: string,
  reply: string | undefined,
  hdrLen: number,
  data: Uint8Array,
): number {
  pos = writeMsgLine(buf, pos, subject, sid, reply, hdrLen, data.length);
  if (data.length > 0) {
    if (data.length < 64) for (let i = 0; i < data.length; i++) buf[pos + i] = data[i]!;
    else buf.set(data, pos);
    pos += data.length;
  }
  buf[pos++] = 0x0d;
  buf[pos++] = 0x0a;
  return pos;
}

/** Writes a MSG/HMSG's control line, up to and including its CRLF, for a payload of `size` bytes. */
export function writeMsgLine(
  buf: Uint8Array,
  pos: number,
  subject: string,
  sid: string,
  reply: string | undefined,
  hdrLen: number,
  size: number,
): number {
  if (hdrLen >= 0) buf[pos++] = 0x48; // H
  buf[pos++] = 0x4d; // M
  buf[pos++] = 0x53; // S
  buf[pos++] = 0x47; // G
  buf[pos++] = 0x20;
  pos = writeLatin1(buf, pos, subject);
  buf[pos++] = 0x20;
  pos = writeLatin1(buf, pos, sid);
  buf[pos++] = 0x20;
  if (reply !== undefined) {
    pos = writeLatin1(buf, pos, reply);
    buf[pos++] = 0x20;
  }
  if (hdrLen >= 0) {
    pos = writeUint(buf, pos, hdrLen);
    buf[pos++] = 0x20;
  }
  pos = writeUint(buf, pos, size);
  buf[pos++] = 0x0d;
  buf[pos++] = 0x0a;
  return pos;
}
