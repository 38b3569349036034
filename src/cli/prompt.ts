/** Interactive confirmation, only when a person is at a terminal. */
import { createInterface } from "node:readline/promises";

/**
 * A confirm function for protected environments: the user must type the environment name.
 * Returns undefined when stdin or stderr is not a terminal, so the library refuses instead.
 */
export function confirmOnTty(expected: string): ((question: string) => Promise<boolean>) | undefined {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  return async (question) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      const answer = await rl.question(question);
      return answer.trim() === expected && expected !== "";
    } finally {
      rl.close();
    }
  };
}
