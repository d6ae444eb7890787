-- A per-key request rate limit (requests per minute; 0: none).
ALTER TABLE api_keys ADD COLUMN rate_per_minute INTEGER NOT NULL DEFAULT 0;
