import Type from 'typebox';
import { NonBlankString, Timestamp } from '../../schemas.ts';
import { Profile } from '../profiles/schemas.ts';

export const NewCommentBody = Type.Object({ comment: Type.Object({ body: NonBlankString(10_000) }) });

export const CommentParams = Type.Object({
  slug: Type.String({ minLength: 1, maxLength: 200 }),
  id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
});

export const Comment = Type.Object({
  id: Type.Integer(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  body: Type.String(),
  author: Profile,
});

export const SingleCommentResponse = Type.Object({ comment: Comment });
export const MultipleCommentsResponse = Type.Object({ comments: Type.Array(Comment) });
