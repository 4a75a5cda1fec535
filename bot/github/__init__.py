"""Posting a review to GitHub: the API client, reading a pull request, publishing, the whole job.

Public interface (helper modules build on these names; keep them stable):

- `bot.github.auth`
    - `TokenProvider` protocol: `token() -> str` and `key: str` (a non-secret id used to serialise writes per
      installation).
    - `StaticToken(token)`: a PAT or the Actions `GITHUB_TOKEN`.
    - `AppAuth(app_id, private_key_pem, installation_id, base_url=None)`: GitHub App; `app_jwt()` makes the RS256 JWT
      (iat 60 s in the past, exp 9 min ahead); `token()` returns an installation token, cached and refreshed 5 min
      before its 1 h expiry.
- `bot.github.client`
    - `GitHubClient(token_provider, base_url=None, *, sleep=time.sleep, write_interval=1.0, ...)`: base URL from the
      argument, else `GITHUB_API_URL`, else https://api.github.com. `request()`, `paginate()` (Link headers),
      `graphql()`, and small typed helpers for the routes dbreview uses. Retries: 403/429 obey `retry-after`, then
      `x-ratelimit-reset`, else wait >= 60 s with exponential backoff and jitter; 5xx and network errors back off
      from 1 s; then `GitHubRateLimited` / `GitHubError`. Content-creating calls (POST/PATCH/PUT/DELETE) are
      serialised per `token_provider.key`. The token never reaches a log line.
    - `GitHubError(status, message, method, path)`, `GitHubRateLimited(GitHubError)`, `is_permission_error(exc)`.
- `bot.github.pr`
    - `load_pull_request(client, repo, number) -> PullRequestInfo`
    - `list_pull_files(client, repo, number) -> list[PullFile]` (paginated; `patch` may be None)
    - `change_for_pull_request(client, repo, pr, files, notes=None) -> Change` (base/head `MemorySnapshot`s that load
      file contents by SHA on demand)
    - `load_review_input(client, repo, number) -> ReviewInput` (pr, files, change, config from the BASE branch, notes)
- `bot.github.anchors`: `anchor_for(finding, change) -> (Anchor | None, reason)`; `Anchor.to_api()`.
- `bot.github.comments`: `comment_body(finding)`, `sanitize(text)`, `fingerprint_marker(fp)` /
  `fingerprint_of(body)` (`<!-- dbreview:fp=<fingerprint> -->`), `SUMMARY_MARKER` (`<!-- dbreview:summary -->`).
- `bot.github.publish`
    - `publish_review(client, pr, review, config, *, change=None, notes=(), trigger="push", store=None,
      bot_logins=()) -> PublishResult`
    - `PublishResult`: posted / already_posted (fingerprints), not_inlined [(Finding, reason)], resolved_threads,
      deleted_comments, review_ids, review_event, summary_comment_id, check_run_id, conclusion, read_only (the
      token could not post: fork PR), skipped (no database surface), superseded, errors (dbreview's own
      failures), summary_markdown, review, config.
    - `CommentStore` protocol: `get(key) -> dict | None`, `set(key, dict)`; key "owner/repo#number", value
      {"summary_comment_id", "head_sha"}.
- `bot.github.run`
    - `review_pull_request(client, repo_full_name, number, *, trigger="push", llm=None, should_continue=None,
      comment_store=None) -> PublishResult`: read the PR, build the change, `bot.pipeline.review`, publish.
      `should_continue()` is called after the review and before anything is posted: return False to stop a
      superseded run (the result then has `superseded=True`). `comment_store` (optional `CommentStore`) remembers the
      summary comment id per PR so a later run skips listing the PR's comments.
"""
