// The iotfw frame protocol on the host (docs/protocol.md): types, codec, link framings and their
// readers, and the JSON view. Import from here.
export * from "./frame.js";
export { encodeFrame, decodeFrame, frameCrc } from "./codec.js";
export { cobsEncode, cobsDecode, cobsMaxEncodedLength } from "./cobs.js";
export { serialFrame, tcpFrame, jsonMessage, SERIAL_DELIMITER, TCP_PREAMBLE, JSON_MESSAGE_MAX } from "./link-framing.js";
export { SerialReader, type DecodedFrame, type SerialReaderStats } from "./serial-reader.js";
export { TcpReader, type TcpMessage, type TcpFraming, type TcpReaderStats, type TcpReaderOptions } from "./tcp-reader.js";
export { ChannelTables, helloWithChannels } from "./channel-table.js";
export { frameToJson, type JsonObject, type JsonValue } from "./json.js";
export { signFrame, unsignFrame, verifyFrameHmac, isSignedFrame, decodeFrameAllowingHmac, FLAG_HMAC, HMAC_SIZE, SIGNABLE_FRAME_MAX } from "./hmac.js";
