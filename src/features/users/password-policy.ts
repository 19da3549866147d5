/**
 * The password rules for sign-up and password change, in the JSON API and the web UI alike:
 * 8 to 128 characters with at least one upper-case letter, one lower-case letter and one digit.
 */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

export const PASSWORD_RULES =
  `at least ${PASSWORD_MIN_LENGTH} and at most ${PASSWORD_MAX_LENGTH} characters, ` +
  'with an upper-case letter, a lower-case letter and a digit';

/** The same rules as a sentence, for the forms' hints. */
export const PASSWORD_RULES_SENTENCE = PASSWORD_RULES.charAt(0).toUpperCase() + PASSWORD_RULES.slice(1);

/** What is wrong with a proposed password, as messages that follow the word "password". */
export function passwordProblems(password: string): string[] {
  const problems: string[] = [];
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) problems.push(`is too short (minimum is ${PASSWORD_MIN_LENGTH} characters)`);
  if (length > PASSWORD_MAX_LENGTH) problems.push(`is too long (maximum is ${PASSWORD_MAX_LENGTH} characters)`);
  if (!/\p{Lu}/u.test(password)) problems.push('must contain an upper-case letter');
  if (!/\p{Ll}/u.test(password)) problems.push('must contain a lower-case letter');
  if (!/\p{Nd}/u.test(password)) problems.push('must contain a digit');
  return problems;
}
