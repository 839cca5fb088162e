module github.com/jwtguard/jwtguard/bench

go 1.25.0
