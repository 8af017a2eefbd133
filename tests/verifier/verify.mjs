// An independent check of an Open Badges 3.0 badge, with widely used libraries only:
// did-jwt-vc (+ did-jwt, did-resolver) verifies the VC-JWT against the issuer's DID
// document, @digitalbazaar/vc-bitstring-status-list decodes the status list.
//
//   node verify.mjs <origin> <badge.png | credential.jwt>
//
// The did:web resolver fetches ONLY <origin>/.well-known/did.json (the test server's);
// status lists only from <origin>. Prints one JSON line: {"status": "valid" | "revoked"
// | "invalid", "error"?, "name"?}. Exit 0 whatever the verdict; 2 on a usage error.
import { readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { Resolver } from 'did-resolver';
import { verifyCredential } from 'did-jwt-vc';
import { decodeList } from '@digitalbazaar/vc-bitstring-status-list';

const [origin, file] = process.argv.slice(2);
if (!origin || !file) {
  console.error('usage: node verify.mjs <origin> <badge.png | credential.jwt>');
  process.exit(2);
}
const expectedDid = 'did:web:' + new URL(origin).host.replace(':', '%3A');

// OB 3.0 §5.3.1: the credential is in an iTXt chunk with the keyword "openbadgecredential".
function fromPng(png) {
  let at = 8;
  while (at < png.length) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    if (type === 'iTXt') {
      const nul = data.indexOf(0);
      if (data.toString('latin1', 0, nul) === 'openbadgecredential') {
        const compressed = data[nul + 1];
        let rest = data.subarray(nul + 3);
        rest = rest.subarray(rest.indexOf(0) + 1); // language tag
        rest = rest.subarray(rest.indexOf(0) + 1); // translated keyword
        return (compressed ? inflateSync(rest) : rest).toString('utf8').trim();
      }
    }
    at += 12 + length;
  }
  throw new Error('no openbadgecredential chunk');
}

const raw = readFileSync(file);
const jwt = raw.subarray(0, 8).equals(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]))
  ? fromPng(raw)
  : raw.toString('utf8').trim();

const resolver = new Resolver({
  web: async (did, parsed) => {
    if (did !== expectedDid) throw new Error(`not the test server's DID: ${did}`);
    const response = await fetch(`${origin}/.well-known/did.json`);
    const didDocument = await response.json();
    return { didDocument, didDocumentMetadata: {}, didResolutionMetadata: { contentType: 'application/did+json' } };
  },
});

// did-jwt-vc's own format check knows only the VC 1.1 context; OB 3.0 credentials are
// VC 2.0, so the shape is checked here instead (the signature check is did-jwt-vc's).
function checkShape(vc, type) {
  const context = [].concat(vc['@context'] || []);
  if (context[0] !== 'https://www.w3.org/ns/credentials/v2') throw new Error('not a VC 2.0 credential');
  if (![].concat(vc.type || []).includes(type)) throw new Error(`not a ${type}`);
}

async function main() {
  const verified = await verifyCredential(jwt, resolver, { policies: { format: false } });
  const vc = verified.verifiableCredential;
  checkShape(vc, 'OpenBadgeCredential');
  if (verified.issuer !== expectedDid) throw new Error(`issuer ${verified.issuer}`);
  const entry = vc.credentialStatus;
  if (!entry || entry.type !== 'BitstringStatusListEntry') throw new Error('no status entry');
  if (!entry.statusListCredential.startsWith(origin + '/')) throw new Error('foreign status list');
  const listJwt = (await (await fetch(entry.statusListCredential)).text()).trim();
  const list = await verifyCredential(listJwt, resolver, { policies: { format: false } });
  checkShape(list.verifiableCredential, 'BitstringStatusListCredential');
  if (list.issuer !== expectedDid) throw new Error('status list of another issuer');
  const subject = list.verifiableCredential.credentialSubject;
  if (subject.statusPurpose !== entry.statusPurpose) throw new Error('status purpose differs');
  const bits = await decodeList({ encodedList: subject.encodedList });
  const revoked = bits.getStatus(Number(entry.statusListIndex));
  return { status: revoked ? 'revoked' : 'valid', name: vc.credentialSubject.name };
}

main()
  .then((result) => console.log(JSON.stringify(result)))
  .catch((error) => console.log(JSON.stringify({ status: 'invalid', error: String(error.message || error) })));
