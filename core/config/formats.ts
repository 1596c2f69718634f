/**
 * The string formats of the config schemas, shared by the validator compiled at run time and
 * the one compiled at build time (schema-precompile.ts), whose code requires this module.
 */
import { isDuration } from './duration';
import { parseCidr } from '../net/address';

export const formats: Record<string, { type: 'string'; validate: (s: string) => boolean }> = {
  duration: { type: 'string', validate: isDuration },
  cidr: { type: 'string', validate: (s: string) => parseCidr(s) !== undefined },
  'http-url': { type: 'string', validate: (s: string) => /^https?:\/\/[^\s/]+/.test(s) },
};
