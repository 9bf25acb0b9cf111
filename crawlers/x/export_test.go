package x

// SnowflakeTime exposes snowflakeTime to the tests.
var SnowflakeTime = snowflakeTime
