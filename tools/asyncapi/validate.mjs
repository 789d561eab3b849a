// Validate an AsyncAPI document (JSON or YAML) with the official parser and its
// Avro schema parser. Prints one JSON line per diagnostic; exit 1 on any error.
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';
import { AvroSchemaParser } from '@asyncapi/avro-schema-parser';
import { readFileSync } from 'node:fs';

const parser = new Parser();
parser.registerSchemaParser(AvroSchemaParser());
const { document, diagnostics } = await parser.parse(readFileSync(process.argv[2], 'utf8'));
let errors = 0;
for (const d of diagnostics) {
  if (d.severity === DiagnosticSeverity.Error) errors += 1;
  console.log(JSON.stringify({ severity: d.severity, code: d.code, message: d.message, path: d.path.join('/') }));
}
console.log(document && errors === 0 ? 'VALID' : 'INVALID');
process.exit(document && errors === 0 ? 0 : 1);
