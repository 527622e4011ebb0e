-- The peer's deterministic data set (shared/peers/express-seed/sql/seed.sql), in WatchParty's schema.
-- Same seed, same generators in the same order: 5,000 users, 500 movies, 1,000 rooms (80% public),
-- ~8,000 room members, 50,000 messages.
TRUNCATE "user", movie, room, room_member, message, invite, refresh_token, password_reset_token RESTART IDENTITY CASCADE;
SELECT setseed(0.42);

INSERT INTO "user" (username, email, password_hash, role, avatar_urls, token_version, created_at, updated_at)
SELECT 'user' || g, 'user' || g || '@example.com',
       '$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG',
       'user',
       CASE WHEN g % 3 = 0 THEN json_build_object('thumbnail', '/uploads/image-' || (1700000000000 + g) || '.jpg') END,
       0, ts, ts
FROM (SELECT g, now() - (random() * interval '365 days') AS ts FROM generate_series(1, 5000) g) s;

INSERT INTO movie (title, description, genres, year, duration_seconds, poster_url, video_url, created_at, updated_at)
SELECT 'Movie title number ' || g,
       'A long enough synopsis for movie ' || g || ': ' || repeat('lorem ipsum dolor sit amet ', 4 + (g % 6)),
       json_build_array((ARRAY['Action','Comedy','Drama','Horror','Sci-Fi','Documentary'])[1 + g % 6]),
       1970 + (g % 55), (80 + (g % 90)) * 60,
       'https://cdn.example.com/posters/' || g || '.jpg',
       'https://cdn.example.com/videos/' || g || '.mp4',
       ts, ts
FROM (SELECT g, now() - (random() * interval '365 days') AS ts FROM generate_series(1, 500) g) s;

INSERT INTO room (name, description, host_id, movie_id, visibility, capacity, created_at, updated_at, last_activity_at)
SELECT 'Watch party #' || g,
       'Come watch with us! Room ' || g || ' — ' || repeat('popcorn and friends ', 2 + (g % 5)),
       1 + floor(random() * 5000)::int,
       1 + floor(random() * 500)::int,
       CASE WHEN g % 5 = 0 THEN 'private' ELSE 'public' END,
       50, ts, ts, ts + (random() * interval '3 days')
FROM (SELECT g, now() - (random() * interval '30 days') AS ts FROM generate_series(1, 1000) g) s;

INSERT INTO room_member (room_id, user_id, role, joined_at, last_seen_at)
SELECT DISTINCT ON (room_id, user_id) room_id, user_id, 'member', joined_at, joined_at FROM (
  SELECT 1 + floor(random() * 1000)::int AS room_id,
         1 + floor(random() * 5000)::int AS user_id,
         now() - (random() * interval '10 days') AS joined_at
  FROM generate_series(1, 8000)
) p;

INSERT INTO message (room_id, user_id, content, created_at)
SELECT 1 + floor(random() * 1000)::int,
       1 + floor(random() * 5000)::int,
       'message ' || g || ' ' || repeat('haha this scene ', 1 + (g % 8)),
       now() - (random() * interval '30 days')
FROM generate_series(1, 50000) g;

-- the peer's rooms can be in the future by up to 3 days; keep activity in the past, as the API writes it
UPDATE room SET last_activity_at = LEAST(last_activity_at, now());
ANALYZE;
