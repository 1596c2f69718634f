/**
 * An AF_PACKET raw socket that sends whole Ethernet frames out of one interface exactly as
 * given: SOCK_RAW with no virtio-net header, so the kernel fills in no header and recomputes
 * no checksum (a frame with a bad IP checksum on purpose arrives with it). Any kernel has it;
 * the benchmarks' sender falls back to it where XDP live frames are missing (before 5.18).
 *
 * The socket is opened with protocol 0, so it receives nothing (a packet socket for
 * ETH_P_ALL would get a copy of every frame on the host); each sendto() names the interface.
 */
import type { TypeObject } from 'koffi';
import { libbpf, koffi, describeErrno } from '../bpf/libbpf';

const AF_PACKET = 17;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const ETH_ALEN = 6;
const ETH_HLEN = 14;

/** struct sockaddr_ll (linux/if_packet.h, kernel UAPI): 20 bytes. */
export function sockaddrLl(): TypeObject {
  return libbpf().sockaddrLl;
}

export class PacketSocket {
  private fd: number;

  private constructor(fd: number, private readonly ifname: string, private readonly ifindex: number) {
    this.fd = fd;
  }

  static open(ifname: string, ifindex: number): PacketSocket {
    const fd = libbpf().socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0) as number;
    if (fd < 0) throw new Error(`opening a packet socket for ${ifname}: ${describeErrno(koffi.errno())}`);
    return new PacketSocket(fd, ifname, ifindex);
  }

  /** Sends `frame` (destination MAC, source MAC, EtherType, ...) `count` times, one sendto() each. */
  send(frame: Buffer, count: number): void {
    if (this.fd < 0) throw new Error('packet socket used after close()');
    if (frame.length < ETH_HLEN) throw new RangeError(`a frame of ${frame.length} bytes has no Ethernet header`);
    const address = {
      sll_family: AF_PACKET,
      sll_protocol: frame.readUInt16BE(12), // the frame's own EtherType becomes the skb's protocol
      sll_ifindex: this.ifindex,
      sll_hatype: 0,
      sll_pkttype: 0,
      sll_halen: ETH_ALEN,
      sll_addr: [...frame.subarray(0, ETH_ALEN), 0, 0],
    };
    const size = koffi.sizeof(libbpf().sockaddrLl);
    for (let i = 0; i < count; i++) {
      const sent = libbpf().sendto(this.fd, frame, frame.length, 0, address, size) as number;
      if (sent !== frame.length) {
        const why = sent < 0 ? describeErrno(koffi.errno()) : `${sent} of ${frame.length} bytes`;
        throw new Error(`sending a frame out of ${this.ifname}: ${why}`);
      }
    }
  }

  close(): void {
    if (this.fd < 0) return;
    libbpf().close(this.fd);
    this.fd = -1;
  }
}
