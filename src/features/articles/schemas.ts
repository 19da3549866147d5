import Type from 'typebox';
import { NonBlankString, Timestamp } from '../../schemas.ts';
import { Profile } from '../profiles/schemas.ts';

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

const Tag = NonBlankString(40);
const TagList = Type.Array(Tag, { maxItems: 10, description: 'Up to 10 tags' });

export const NewArticleBody = Type.Object({
  article: Type.Object({
    title: NonBlankString(200),
    description: NonBlankString(500),
    body: NonBlankString(100_000, 'Markdown'),
    tagList: Type.Optional(TagList),
  }),
});

export const UpdateArticleBody = Type.Object({
  article: Type.Object(
    {
      title: Type.Optional(NonBlankString(200)),
      description: Type.Optional(NonBlankString(500)),
      body: Type.Optional(NonBlankString(100_000, 'Markdown')),
      tagList: Type.Optional(TagList),
    },
    { minProperties: 1 },
  ),
});

const Limit = Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE, description: 'Page size' });
const Offset = Type.Integer({ minimum: 0, maximum: 2_147_483_647, default: 0, description: 'Articles to skip' });

export const ListArticlesQuery = Type.Object({
  tag: Type.Optional(Type.String({ maxLength: 40, description: 'Only articles with this tag' })),
  author: Type.Optional(Type.String({ maxLength: 64, description: 'Only articles by this username' })),
  favorited: Type.Optional(Type.String({ maxLength: 64, description: 'Only articles this username favorited' })),
  limit: Type.Optional(Limit),
  offset: Type.Optional(Offset),
});

export const FeedQuery = Type.Object({ limit: Type.Optional(Limit), offset: Type.Optional(Offset) });

export const SlugParams = Type.Object({ slug: Type.String({ minLength: 1, maxLength: 200 }) });

const summaryFields = {
  slug: Type.String(),
  title: Type.String(),
  description: Type.String(),
  tagList: Type.Array(Type.String()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  favorited: Type.Boolean(),
  favoritesCount: Type.Integer(),
  author: Profile,
};

export const ArticleSummary = Type.Object(summaryFields);
export const Article = Type.Object({ ...summaryFields, body: Type.String() });

export const SingleArticleResponse = Type.Object({ article: Article });
export const MultipleArticlesResponse = Type.Object({
  articles: Type.Array(ArticleSummary),
  articlesCount: Type.Integer({ description: 'All matching articles, not just this page' }),
});
