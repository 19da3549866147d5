import Type from 'typebox';
import { NullableString } from '../../schemas.ts';

export const Profile = Type.Object({
  username: Type.String(),
  bio: NullableString,
  image: NullableString,
  following: Type.Boolean(),
});

export const ProfileResponse = Type.Object({ profile: Profile });

export const UsernameParams = Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }) });
