import { UsageError, UserError } from '../errors.ts';

/**
 * Splits an SSH command line into words the way a POSIX shell quotes them, with no expansion
 * of any kind: `$()`, backticks, `;`, globs and the like are plain characters. Nothing here ever
 * reaches a shell; quoting only lets users pass values with spaces (`K="v w"`).
 */
export function tokenize(line: string): string[] {
  if (line.includes('\0')) throw new UserError('The command contains a NUL character.');
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new UsageError('The command has an unterminated single quote.');
      word += line.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (ch === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length && '"\\$`'.includes(line[j + 1]!)) j++;
        word += line[j];
      }
      if (j >= line.length) throw new UsageError('The command has an unterminated double quote.');
      i = j;
      inWord = true;
    } else if (ch === '\\') {
      if (i + 1 >= line.length) throw new UsageError('The command ends with a lone backslash.');
      word += line[++i];
      inWord = true;
    } else if (ch === ' ' || ch === '\t') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else if (ch === '\n' || ch === '\r') {
      throw new UserError('The command spans several lines; put values that contain line breaks in quotes.');
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}
