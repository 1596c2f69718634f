/**
 * What a DNS answer says about addresses: each A/AAAA address reached from the asked
 * name (directly or through a CNAME chain) and the asked name, so flows and
 * connections to that address can carry the name the application looked up.
 */
import type { DnsMessage } from './message';

export interface ResolvedAddress {
  address: string;
  /** The name in the question, lower-cased (DNS names are case-insensitive). */
  name: string;
  /** Seconds: the smallest TTL along the chain that led to the address. */
  ttl: number;
}

/**
 * Addresses a NOERROR response resolved its first question's name to. Only records
 * whose owner is the asked name or a CNAME target on its chain count: unrelated
 * records in the answer section name nothing the application asked for.
 */
export function resolvedAddresses(message: DnsMessage): ResolvedAddress[] {
  const question = message.questions[0];
  if (!message.isResponse || message.rcode !== 'NOERROR' || !question) return [];
  const asked = question.name.toLowerCase();
  // Each name on the chain and the smallest TTL that leads to it.
  const chain = new Map<string, number>([[asked, Infinity]]);
  const out: ResolvedAddress[] = [];
  for (const answer of message.answers) {
    const owner = answer.name.toLowerCase();
    const reach = chain.get(owner);
    if (reach === undefined) continue;
    const ttl = Math.min(reach, answer.ttl);
    if (answer.type === 'CNAME') {
      const target = answer.data.toLowerCase();
      if (!chain.has(target)) chain.set(target, ttl);
    } else if (answer.type === 'A' || answer.type === 'AAAA') {
      out.push({ address: answer.data, name: asked, ttl });
    }
  }
  return out;
}
