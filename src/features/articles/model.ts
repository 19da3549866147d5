import { byCodePoint } from '../../lib/sort.ts';
import type { ProfileView } from '../profiles/repository.ts';

/** Articles as the features see them, whichever database and query produced them. */
export interface ArticleSummary {
  readonly slug: string;
  readonly title: string;
  readonly description: string;
  readonly tagList: string[];
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly favorited: boolean;
  readonly favoritesCount: number;
  readonly author: ProfileView;
}

export interface Article extends ArticleSummary {
  readonly body: string;
}

export interface ArticleFilter {
  readonly tag?: string | undefined;
  readonly author?: string | undefined;
  readonly favorited?: string | undefined;
  /** Only articles by authors this user follows (the feed). */
  readonly followedBy?: number | undefined;
}

export interface Page {
  readonly limit: number;
  readonly offset: number;
}

export interface NewArticle {
  readonly title: string;
  readonly description: string;
  readonly body: string;
  readonly tagList?: readonly string[] | undefined;
}

export interface ArticleChanges {
  readonly title?: string | undefined;
  readonly description?: string | undefined;
  readonly body?: string | undefined;
  readonly tagList?: readonly string[] | undefined;
}

/** Trimmed, without duplicates, sorted by code point: the order every response shows. */
export function normalizeTags(tagList: readonly string[] | undefined): string[] {
  return [...new Set((tagList ?? []).map((tag) => tag.trim()).filter((tag) => tag !== ''))].sort(byCodePoint);
}
