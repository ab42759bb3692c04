// Edits that inject drift into a copy of a header, for the drift tests. Each one finds its
// target by name and fails loudly when it is not there, so a test never edits nothing.

function structBody(text: string, struct: string): { start: number; end: number } {
  const start = text.indexOf(`struct ${struct} {`);
  if (start < 0) throw new Error(`no struct ${struct} in the header`);
  const end = text.indexOf('};', start);
  return { start, end };
}

function editStruct(text: string, struct: string, edit: (body: string) => string): string {
  const { start, end } = structBody(text, struct);
  const body = text.slice(start, end);
  const edited = edit(body);
  if (edited === body) throw new Error(`the edit changed nothing in struct ${struct}`);
  return text.slice(0, start) + edited + text.slice(end);
}

const fieldLine = (name: string) => new RegExp(`^([ \\t]*[\\w ]+?\\s+)${name}(\\[\\w*\\])?;$`, 'm');

export function renameField(text: string, struct: string, from: string, to: string): string {
  return editStruct(text, struct, (body) => body.replace(fieldLine(from), `$1${to}$2;`));
}

export function swapFields(text: string, struct: string, a: string, b: string): string {
  return editStruct(text, struct, (body) => {
    const la = fieldLine(a).exec(body)?.[0];
    const lb = fieldLine(b).exec(body)?.[0];
    if (!la || !lb) throw new Error(`no ${a} or ${b} in struct ${struct}`);
    return body.replace(la, '\u0000').replace(lb, la).replace('\u0000', lb);
  });
}

/** Adds `line` as the last member of the struct. */
export function growStruct(text: string, struct: string, line: string): string {
  return editStruct(text, struct, (body) => `${body}\t${line}\n`);
}

export function setDefine(text: string, name: string, value: string): string {
  const re = new RegExp(`^(#define[ \\t]+${name}[ \\t]+).*$`, 'm');
  if (!re.test(text)) throw new Error(`no #define ${name}`);
  return text.replace(re, `$1${value}`);
}

export function removeDefine(text: string, name: string): string {
  const re = new RegExp(`^#define[ \\t]+${name}[ \\t].*\\n`, 'm');
  if (!re.test(text)) throw new Error(`no #define ${name}`);
  return text.replace(re, '');
}
