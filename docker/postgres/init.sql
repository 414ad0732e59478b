-- Runs once, when the postgres container initialises an empty data volume (in database "app").
-- Creates the application's login roles with local passwords; the row_level_security migration then
-- sets their attributes (no superuser, no BYPASSRLS) and grants them data access only.
-- Role names are cluster-wide, so this is not repeated per database.
CREATE ROLE app_runtime WITH LOGIN PASSWORD 'app_runtime';
CREATE ROLE app_admin WITH LOGIN PASSWORD 'app_admin';
