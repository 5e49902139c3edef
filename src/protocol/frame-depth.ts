/**
 * How deeply a frame's JSON may nest unless the hub's options say otherwise: a board's default depth
 * (256, `BoardLimits.maxDepth`) plus the message around it.
 *
 * @example
 * runtime.listen({ tokens, maxFrameDepth: DEFAULT_MAX_FRAME_DEPTH + 200 }); // for a board with maxDepth 456
 */
export const DEFAULT_MAX_FRAME_DEPTH = 300;

/**
 * The first depth past `max` that the JSON text nests to (`[` and `{` outside strings), or undefined when
 * it stays within. A scan of the text, before `JSON.parse` and before the protocol's schema: nothing
 * recursive ever sees a frame nested 100,000 levels deep. Cost: the length of the text.
 *
 * @example
 * jsonNestingOver('[[["a]]]"]]]', 2); // 3
 */
export function jsonNestingOver(text: string, max: number): number | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return undefined;
}
