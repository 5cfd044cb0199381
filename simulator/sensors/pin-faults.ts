// Fault injection shared by the pin-level sensor models (dht22/, hcsr04/, mhz19b/, gpio/): the names of
// the faults a test or scenario can switch on at any time. Each model documents which it honours.
// Type only: touches nothing.

/**
 * - "none": the part behaves per its datasheet.
 * - "corruptChecksum": a frame's checksum does not match its data (DHT22: one bit flipped).
 * - "truncated": the part stops mid-frame (DHT22: after a number of bits).
 * - "noAnswer": the part does not answer at all (unplugged, dead): capture primitives time out.
 * - "stuck": the line is stuck (DHT22: held low; HC-SR04: echo held high; MH-Z19B: no edges; button:
 *   contact welded closed).
 */
export type PinFault = "none" | "corruptChecksum" | "truncated" | "noAnswer" | "stuck";
