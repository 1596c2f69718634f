/**
 * Build step (scripts/build.js runs it after tsc): the registry's collector schema compiled
 * once into dist/core/config/schema-validate.js with ajv's standalone code, so a start does
 * not compile it again (see schemaFor in load.ts, which checks the key and else compiles).
 */
import fs from 'node:fs';
import path from 'node:path';
import { _ } from 'ajv';
import standaloneCode from 'ajv/dist/standalone';
import { plugins } from '../../plugins/registry';
import { collectorSchemaFor, newAjv } from './load';

export function writePrecompiledSchema(file: string): void {
  const { schema, key } = collectorSchemaFor(plugins);
  const ajv = newAjv({ code: { source: true, formats: _`require("./formats").formats` } });
  // The module is the validator; its key is the hash of the schema it was compiled from.
  const code = standaloneCode(ajv, ajv.compile(schema));
  fs.writeFileSync(file, `${code}\nmodule.exports.key = ${JSON.stringify(key)};\n`);
}

if (require.main === module) writePrecompiledSchema(path.join(__dirname, 'schema-validate.js'));
