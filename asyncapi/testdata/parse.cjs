// Reads AsyncAPI documents with the reference parser, @asyncapi/parser,
// found through NODE_PATH. For each file named on the command line it
// prints one JSON line: the parser's diagnostics and a summary of what it
// understood (each operation's action, channel address, request payload
// type and reply message names). The Go interop test reads these lines.
const fs = require('fs');
const { Parser } = require('@asyncapi/parser');

async function main() {
  const parser = new Parser();
  for (const file of process.argv.slice(2)) {
    const { document, diagnostics } = await parser.parse(fs.readFileSync(file, 'utf8'));
    const summary = {};
    if (document) {
      for (const op of document.operations().all()) {
        const channel = op.channels().all()[0];
        const request = op.messages().all()[0];
        const reply = op.reply();
        summary[op.id()] = {
          action: op.action(),
          address: channel ? channel.address() : null,
          requestType: request && request.hasPayload() ? (request.payload().type() || 'ref') : null,
          replies: reply ? reply.messages().all().map((m) => m.name()) : [],
          queue: op.bindings().has('nats') ? op.bindings().get('nats').value().queue : null,
        };
      }
    }
    const simple = diagnostics.map((d) => ({ severity: d.severity, code: d.code, message: d.message, path: d.path.join('/') }));
    console.log(JSON.stringify({ file, parsed: !!document, diagnostics: simple, operations: summary }));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
