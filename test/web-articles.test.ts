import { describe, expect, it } from 'vitest';
import { Conduit, uniqueName } from './helpers/conduit.ts';
import { useTestApp } from './helpers/app.ts';
import { text, WebClient } from './helpers/browser.ts';

const testApp = useTestApp();
const api = new Conduit(() => testApp.app);

async function writeArticle(browser: WebClient, fields: Partial<Record<'title' | 'description' | 'body' | 'tags', string>> = {}) {
  await browser.get('/editor');
  const page = await browser.post('/editor', {
    title: fields.title ?? `Quarterly report ${uniqueName()}`,
    description: fields.description ?? 'Numbers and what they mean',
    body: fields.body ?? '# Summary\n\nRevenue is **up**.',
    tags: fields.tags ?? 'finance, reports',
  });
  expect(page.status).toBe(303);
  return page.location!;
}

describe('the editor', () => {
  it('publishes an article and shows it, with Markdown rendered and tags sorted', async () => {
    const browser = new WebClient(testApp.app);
    await browser.signUp();
    const location = await writeArticle(browser, { title: 'Ledger basics', tags: 'zebra, accounting' });

    const article = await browser.get(location);

    expect(location).toMatch(/^\/article\/ledger-basics/);
    expect(text(article.document.querySelector('.flash'))).toBe('Your article is published.');
    expect(text(article.document.querySelector('h1'))).toBe('Ledger basics');
    // A Markdown `#` heading sits one level below the title: the page has a single h1.
    expect(article.document.querySelectorAll('h1')).toHaveLength(1);
    expect(article.document.querySelector('.article-body h2')?.textContent).toBe('Summary');
    expect(article.document.querySelector('.article-body strong')?.textContent).toBe('up');
    expect(article.document.querySelectorAll('.tag-list')[0]?.querySelectorAll('a').map((link) => link.textContent)).toEqual(['accounting', 'zebra']);
  });

  it('never lets article Markdown inject script or event handlers', async () => {
    const browser = new WebClient(testApp.app);
    await browser.signUp();
    const location = await writeArticle(browser, {
      body: '<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n[click](javascript:alert(3)) [fine](https://example.com)',
    });

    const article = await browser.get(location);
    const body = article.document.querySelector('.article-body')!;

    expect(body.querySelectorAll('script')).toHaveLength(0);
    expect(body.querySelectorAll('img')).toHaveLength(0);
    expect(body.querySelectorAll('*').flatMap((element) => Object.keys(element.attributes)).filter((name) => name.startsWith('on'))).toEqual([]);
    expect(body.querySelectorAll('a').map((link) => link.getAttribute('href'))).toEqual(['https://example.com']);
    expect(text(body)).toContain('<script>alert(1)</script>');
    expect(body.querySelector('a[href="https://example.com"]')?.getAttribute('rel')).toBe('nofollow noopener noreferrer');
  });

  it('shows every problem next to its field, in the words of its label, and keeps what was typed', async () => {
    const browser = new WebClient(testApp.app);
    await browser.signUp();
    await browser.get('/editor');

    const page = await browser.post('/editor', { title: ' ', description: 'Kept', body: '', tags: 'a, b' });

    expect(page.status).toBe(422);
    expect(text(page.document.querySelector('#title-error'))).toBe("Title can't be blank");
    expect(text(page.document.querySelector('#body-error'))).toBe("Article (Markdown) can't be blank");
    expect(text(page.document.querySelector('title'))).toMatch(/^Error: /);
    // The summary takes focus on load and links each problem to its field.
    const summary = page.document.querySelector('.error-summary');
    expect(summary?.hasAttribute('autofocus')).toBe(true);
    expect(summary?.querySelectorAll('a').map((link) => [link.getAttribute('href'), text(link)])).toEqual([
      ['#title', "Title can't be blank"],
      ['#body', "Article (Markdown) can't be blank"],
    ]);
    expect(page.document.querySelector('#description')?.getAttribute('value')).toBe('Kept');
    expect(page.document.querySelector('#tags')?.getAttribute('value')).toBe('a, b');
  });

  it('edits an article: the form is prefilled and saving changes it', async () => {
    const browser = new WebClient(testApp.app);
    await browser.signUp();
    const location = await writeArticle(browser, { title: 'Draft title' });
    const slug = location.split('/').at(-1)!;

    const form = await browser.get(`/editor/${slug}`);
    expect(form.document.querySelector('#title')?.getAttribute('value')).toBe('Draft title');
    const saved = await browser.post(`/editor/${slug}`, { title: 'Final title', description: 'd', body: 'Updated body', tags: 'one' });
    const article = await browser.get(saved.location!);

    expect(saved.location).toMatch(/^\/article\/final-title/);
    expect(text(article.document.querySelector('.article-body'))).toBe('Updated body');
  });

  it('refuses to let anyone else edit, with a 403 page, and leaves the article alone', async () => {
    const author = new WebClient(testApp.app);
    await author.signUp();
    const slug = (await writeArticle(author, { title: 'Mine alone' })).split('/').at(-1)!;
    const intruder = new WebClient(testApp.app);
    await intruder.signUp();

    const form = await intruder.get(`/editor/${slug}`);
    const post = await intruder.post(`/editor/${slug}`, { title: 'Hacked', description: 'd', body: 'b', tags: '' });

    expect(form.status).toBe(403);
    expect(post.status).toBe(403);
    expect(text(post.document.querySelector('h1'))).toBe('Not allowed');
    expect((await api.request<{ article: { title: string } }>('GET', `/api/articles/${slug}`)).body.article.title).toBe('Mine alone');
  });

  it('sends signed-out visitors to sign in', async () => {
    const visitor = new WebClient(testApp.app);
    const page = await visitor.get('/editor');

    expect(page.status).toBe(303);
    expect(page.location).toBe('/login?next=%2Feditor');
  });
});

describe('reading and reacting', () => {
  it('lists articles on the home page with a tag filter and pagination', async () => {
    const browser = new WebClient(testApp.app);
    await browser.signUp();
    const tag = uniqueName('pages');
    for (let index = 0; index < 12; index += 1) await writeArticle(browser, { title: `Paged ${index} ${tag}`, tags: tag });

    const first = await browser.get(`/?tag=${tag}`);
    const second = await browser.get(`/?tag=${tag}&page=2`);

    expect(first.document.querySelectorAll('.article-preview')).toHaveLength(10);
    expect(second.document.querySelectorAll('.article-preview')).toHaveLength(2);
    expect(first.document.querySelector('.tabs [aria-current="page"]')?.textContent).toContain(tag);
    expect(first.document.querySelector(`.pagination a[href="/?tag=${tag}&page=2"]`)).not.toBeNull();
    expect(text(first.document.querySelector('.sidebar'))).toContain(tag);
  });

  it('favorites and unfavorites from a form, going back to the page it came from', async () => {
    const author = new WebClient(testApp.app);
    await author.signUp();
    const location = await writeArticle(author);
    const reader = new WebClient(testApp.app);
    await reader.signUp();
    await reader.get(location);

    const favorite = await reader.post(`${location}/favorite`, { back: location });
    const favorited = await reader.get(location);
    const unfavorite = await reader.post(`${location}/unfavorite`, { back: location });
    const unfavorited = await reader.get(location);

    const favoriteButton = (page: Awaited<ReturnType<WebClient['get']>>) =>
      page.document.querySelectorAll('.banner button').find((button) => text(button).includes('avorite article'));
    expect(favorite.location).toBe(location);
    expect(text(favoriteButton(favorited))).toBe('♥ Unfavorite article (1)');
    expect(favoriteButton(favorited)?.getAttribute('aria-pressed')).toBe('true');
    expect(unfavorite.status).toBe(303);
    expect(text(favoriteButton(unfavorited))).toBe('♥ Favorite article (0)');
  });

  it('follows and unfollows an author, and their articles appear in "Your feed"', async () => {
    const author = new WebClient(testApp.app);
    const { username } = await author.signUp();
    const title = `Followed writing ${uniqueName()}`;
    await writeArticle(author, { title });
    const reader = new WebClient(testApp.app);
    await reader.signUp();
    await reader.get(`/profile/${username}`);

    await reader.post(`/profile/${username}/follow`, { back: `/profile/${username}` });
    const feed = await reader.get('/?feed=yours');
    const profile = await reader.get(`/profile/${username}`);
    await reader.post(`/profile/${username}/unfollow`);
    const emptyFeed = await reader.get('/?feed=yours');

    expect(text(feed.document.querySelector('.article-preview h2'))).toBe(title);
    expect(text(profile.document.querySelector('.profile-header button'))).toContain(`Unfollow ${username}`);
    expect(text(emptyFeed.document.querySelector('.empty'))).toContain('follow some authors');
  });

  it('comments, refuses a blank comment, and lets the author delete their comment', async () => {
    const browser = new WebClient(testApp.app);
    await browser.signUp();
    const location = await writeArticle(browser);
    await browser.get(location);

    const blank = await browser.post(`${location}/comments`, { body: '   ' });
    const posted = await browser.post(`${location}/comments`, { body: 'First <b>comment</b>' });
    const withComment = await browser.get(location);
    const commentId = posted.location!.split('#comment-')[1]!;

    expect(blank.status).toBe(422);
    expect(text(blank.document.querySelector('#comment-body-error'))).toBe("Comment can't be blank");
    expect(text(withComment.document.querySelector(`#comment-${commentId} .card-body`))).toBe('First <b>comment</b>');
    const deleted = await browser.post(`${location}/comments/${commentId}/delete`);
    const after = await browser.get(location);
    expect(deleted.status).toBe(303);
    expect(after.document.querySelector(`#comment-${commentId}`)).toBeNull();
  });

  it('shows the comment form only to signed-in readers', async () => {
    const author = new WebClient(testApp.app);
    await author.signUp();
    const location = await writeArticle(author);

    const anonymous = await new WebClient(testApp.app).get(location);

    expect(anonymous.document.querySelector('.comment-form')).toBeNull();
    expect(text(anonymous.document.querySelector('.comments p'))).toContain('to add comments');
  });

  it('lets the author delete the article', async () => {
    const browser = new WebClient(testApp.app);
    await browser.signUp();
    const location = await writeArticle(browser, { title: 'Short lived' });
    await browser.get(location);

    const deleted = await browser.post(`${location}/delete`);
    const gone = await browser.get(location);

    expect(deleted.location).toBe('/');
    expect(gone.status).toBe(404);
    expect(text(gone.document.querySelector('h1'))).toBe('Page not found');
  });

  it('shows a profile with its articles and favorited tabs', async () => {
    const browser = new WebClient(testApp.app);
    const { username } = await browser.signUp();
    const title = `On my profile ${uniqueName()}`;
    await writeArticle(browser, { title });

    const articles = await browser.get(`/profile/${username}`);
    const favorites = await browser.get(`/profile/${username}/favorites`);
    const missing = await browser.get('/profile/nobody-here');

    expect(text(articles.document.querySelector('.profile-header h1'))).toBe(username);
    expect(text(articles.document.querySelector('.article-preview h2'))).toBe(title);
    expect(favorites.document.querySelectorAll('.article-preview')).toHaveLength(0);
    expect(missing.status).toBe(404);
  });

  it('gives a dashboard with only your own articles and their numbers', async () => {
    const author = new WebClient(testApp.app);
    await author.signUp();
    const location = await writeArticle(author, { title: 'Dashboard article' });
    const fan = new WebClient(testApp.app);
    await fan.signUp();
    await fan.get(location);
    await fan.post(`${location}/favorite`);
    await fan.post(`${location}/comments`, { body: 'Nice numbers' });
    const { username } = await new WebClient(testApp.app).signUp();
    await fan.post(`/profile/${username}/follow`);

    const dashboard = await author.get('/dashboard');
    const numbers = dashboard.document.querySelectorAll('.stat .number').map((element) => element.textContent);

    expect(numbers).toEqual(['1', '1', '1', '0', '0']);
    expect(dashboard.document.querySelectorAll('.table-wrap tbody tr')).toHaveLength(1);
    expect(text(dashboard.document.querySelector('.table-wrap tbody tr'))).toContain('Dashboard article');
  });

  it('charts the favorites and comments received over the last 8 weeks as accessible SVG, with the numbers behind them', async () => {
    const author = new WebClient(testApp.app);
    await author.signUp();
    const location = await writeArticle(author);
    const fans = [new WebClient(testApp.app), new WebClient(testApp.app)];
    for (const fan of fans) {
      await fan.signUp();
      await fan.get(location);
      await fan.post(`${location}/favorite`);
    }
    await fans[0]!.post(`${location}/comments`, { body: 'First' });

    const dashboard = await author.get('/dashboard');
    const charts = dashboard.document.querySelectorAll('figure.chart');

    expect(charts.map((chart) => text(chart.querySelector('svg title')))).toEqual(['Favorites received, last 8 weeks', 'Comments received, last 8 weeks']);
    for (const chart of charts) {
      const svg = chart.querySelector('svg')!;
      expect(svg.getAttribute('role')).toBe('img');
      expect(chart.querySelector(`#${svg.getAttribute('aria-describedby')}`)).not.toBeNull();
      expect(svg.querySelectorAll('rect.chart-bar')).toHaveLength(8);
      expect(chart.querySelectorAll('table tbody tr')).toHaveLength(8);
    }
    // This week is the last bar and the last row: 2 favorites, 1 comment.
    expect(charts.map((chart) => text(chart.querySelector('table tbody tr:last-child td:last-child')))).toEqual(['2', '1']);
    expect(text(charts[0]!.querySelector('.chart-summary'))).toMatch(/^2 favorites in 8 weeks; the most, 2, in the week of /);
    expect(text(charts[1]!.querySelector('.chart-summary'))).toMatch(/^1 comment in 8 weeks/);
  });
});

describe('popular tags on the home page', () => {
  it('lists the most used tags first, at most 20, and marks the selected one', async () => {
    const browser = new WebClient(testApp.app);
    await browser.signUp();
    const often = uniqueName('often');
    const rare = uniqueName('rare');
    await writeArticle(browser, { tags: `${rare}, ${often}` });
    await writeArticle(browser, { tags: often });
    await writeArticle(browser, { tags: often });
    const spread = Array.from({ length: 21 }, (_, index) => `${uniqueName('spread')}-${index}`);
    await writeArticle(browser, { tags: spread.slice(0, 10).join(', ') });
    await writeArticle(browser, { tags: spread.slice(10, 20).join(', ') });
    await writeArticle(browser, { tags: spread[20] });

    // Tags stay fresh for a second in this process; the writes above called forget().
    const home = await browser.get(`/?tag=${often}`);
    const listed = home.document.querySelectorAll('.sidebar .tag').map((link) => text(link));

    // More than 20 tags are in use: only 20 are listed, and a tag on three articles comes before any on one.
    expect(listed.length).toBe(20);
    const usedOnce = listed.filter((tag) => tag === rare || spread.includes(tag));
    expect(usedOnce.length).toBeGreaterThan(0);
    expect(listed.indexOf(often)).toBeGreaterThanOrEqual(0);
    expect(listed.indexOf(often)).toBeLessThan(listed.indexOf(usedOnce[0]!));
    expect(home.document.querySelector('.sidebar .tag[aria-current="page"]')?.textContent).toBe(often);
  });
});
