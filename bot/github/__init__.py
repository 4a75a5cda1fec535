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
- `bot.github.publish`
    - `publish_review(client, repo, pr, review, config, *, change=None, notes=(), trigger="push") -> PublishResult`
    - `PublishResult`: what was posted, skipped, resolved, deleted; `read_only` when the token could not write.
    - markers: `fingerprint_marker(fp)`, `SUMMARY_MARKER`.
- `bot.github.run`
    - `review_pull_request(client, repo_full_name, number, *, trigger="push", llm=None, should_continue=None,
      comment_store=None) -> PublishResult`: read the PR, build the change, `bot.pipeline.review`, publish.
      `should_continue()` is called after the review and before anything is posted: return False to stop a
      superseded run (the result then has `superseded=True`). `comment_store` (optional `CommentStore`) remembers the
      summary comment id and check run id per PR so a later run skips a listing call.
"""
