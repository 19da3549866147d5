import Type from 'typebox';
import { NullableString } from '../../schemas.ts';
import { PASSWORD_MAX_LENGTH, PASSWORD_RULES } from './password-policy.ts';

export const USERNAME_PATTERN = '^[A-Za-z0-9_.-]+$';

const Email = Type.String({ format: 'email', maxLength: 254 });
const Username = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: USERNAME_PATTERN,
  description: 'Letters, digits, "_", "-" and "."',
});
const NewPassword = Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH, description: `Password: ${PASSWORD_RULES}` });
const ImageUrl = Type.Union([
  Type.String({ maxLength: 2048, pattern: '^(|https?://\\S+|/images/[0-9a-f]+)$', description: 'http(s) URL, or empty for none' }),
  Type.Null(),
]);

export const RegisterBody = Type.Object({
  user: Type.Object({ username: Username, email: Email, password: NewPassword }),
});

export const LoginBody = Type.Object({
  user: Type.Object({
    email: Type.String({ minLength: 1, maxLength: 254 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
  }),
});

export const UpdateUserBody = Type.Object({
  user: Type.Object(
    {
      email: Type.Optional(Email),
      username: Type.Optional(Username),
      password: Type.Optional(NewPassword),
      bio: Type.Optional(Type.Union([Type.String({ maxLength: 1000 }), Type.Null()])),
      image: Type.Optional(ImageUrl),
    },
    { minProperties: 1 },
  ),
});

export const UserResponse = Type.Object({
  user: Type.Object({
    email: Type.String(),
    token: Type.String(),
    username: Type.String(),
    bio: NullableString,
    image: NullableString,
  }),
});
