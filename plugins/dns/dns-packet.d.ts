/** The part of dns-packet (5.x) that the tests and benchmarks use to build and cross-check messages. */
declare module 'dns-packet' {
  export interface Question { name: string; type: string; class?: string }
  export interface Answer {
    name: string;
    type: string;
    class?: string;
    ttl?: number;
    data?: unknown;
    flush?: boolean;
  }
  export interface Packet {
    id?: number;
    type?: 'query' | 'response';
    flags?: number;
    flag_qr?: boolean;
    flag_tc?: boolean;
    opcode?: string;
    rcode?: string;
    questions?: Question[];
    answers?: Answer[];
    authorities?: Answer[];
    additionals?: Answer[];
  }
  export const RECURSION_DESIRED: number;
  export const TRUNCATED_RESPONSE: number;
  export function encode(packet: Packet): Buffer;
  export function decode(buf: Buffer): Packet;
  export function streamEncode(packet: Packet): Buffer;
}
