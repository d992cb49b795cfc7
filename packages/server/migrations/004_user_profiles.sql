-- Display names the server trusts: written only by trusted sources (the admin token and profile
-- routes, the development login, a verified token's name claims), read by the router, which puts
-- them in sender_fullname / writer_fullname instead of whatever a client claims.

CREATE TABLE user_profiles (
  app_id     text   NOT NULL,
  user_id    text   NOT NULL,
  fullname   text,
  firstname  text,
  lastname   text,
  updated_at bigint NOT NULL,
  PRIMARY KEY (app_id, user_id)
);
