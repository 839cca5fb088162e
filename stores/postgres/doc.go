// Package postgres keeps jwtguard's users and sessions in a PostgreSQL
// database, on github.com/jackc/pgx/v5 (its pool, pgxpool).
package postgres
