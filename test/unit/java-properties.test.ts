/**
 * java.util.Properties#load syntax for `vigil lag --command-config` (issue 11 item 6): a
 * client properties file written for kafka-consumer-groups.sh must mean the same to vigil.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isVigilError } from '../../src/errors';
import { decodePropertiesBytes, parseJavaProperties } from '../../src/util/java-properties';

const parse = (text: string) => Object.fromEntries(parseJavaProperties(text));

describe('parseJavaProperties', () => {
  it('reads key=value, key: value and key value, dropping blanks around the separator only', () => {
    assert.deepEqual(parse('a=1\nb: 2\nc 3\n  d  =  4  \ne\t:\t5\nf\n'), { a: '1', b: '2', c: '3', d: '4  ', e: '5', f: '' });
  });

  it('skips # and ! comment lines and blank lines; a comment does not continue with a trailing backslash', () => {
    assert.deepEqual(parse('# comment \\\nx=1\n   ! also a comment\n\n\t\ny=2'), { x: '1', y: '2' });
  });

  it('keeps # and ! inside values (only a leading one starts a comment)', () => {
    assert.deepEqual(parse('password=a#b!c'), { password: 'a#b!c' });
  });

  it('joins continuation lines, dropping the next line\'s leading blanks', () => {
    assert.deepEqual(parse('k=one \\\n    two\\\n\tthree\nnext=x'), { k: 'one twothree', next: 'x' });
  });

  it('continues across CRLF and CR line ends and on a comment-looking continuation line', () => {
    assert.deepEqual(parse('k=a\\\r\n  # not a comment\r\nl=b\rm=c'), { k: 'a# not a comment', l: 'b', m: 'c' });
  });

  it('an even number of trailing backslashes is an escaped backslash, not a continuation', () => {
    assert.deepEqual(parse('path=C:\\\\dir\\\\\nnext=1'), { path: 'C:\\dir\\', next: '1' });
  });

  it('a backslash on the last line continues into nothing', () => {
    assert.deepEqual(parse('k=v\\'), { k: 'v' });
  });

  it('reads \\t \\n \\r \\f \\uXXXX escapes, and \\ before any other character is that character', () => {
    assert.deepEqual(parse('k=a\\tb\\nc\\rd\\fe\\u00e9\\u20AC\\"q\\"\\=\\:\\x'), { k: 'a\tb\nc\rd\fe\u00e9\u20ac"q"=:x' });
  });

  it('escaped separators and blanks belong to the key', () => {
    assert.deepEqual(parse('my\\ key\\=x\\:y = v'), { 'my key=x:y': 'v' });
  });

  it('the first separator ends the key; later = and : are part of the value', () => {
    assert.deepEqual(parse('sasl.jaas.config=a b="c=d";\nurl: http://x:1'), { 'sasl.jaas.config': 'a b="c=d";', url: 'http://x:1' });
  });

  it('a repeated key keeps its last value', () => {
    assert.deepEqual(parse('k=1\nk=2'), { k: '2' });
  });

  it('refuses a malformed \\u escape with the line number', () => {
    assert.throws(
      () => parseJavaProperties('a=1\nb=\\u12G4', 'client.properties'),
      (err) => isVigilError(err) && err.code === 'CONFIG_INVALID' && /client\.properties line 2: malformed \\uXXXX/.test(err.message),
    );
  });

  it('decodes UTF-8 when valid, otherwise ISO-8859-1 like Java', () => {
    assert.equal(decodePropertiesBytes(Buffer.from('p=é€', 'utf8')), 'p=é€');
    assert.equal(decodePropertiesBytes(Buffer.from([0x70, 0x3d, 0xe9])), 'p=é');
  });
});
