-- TPC-H Q6 for DuckDB (standard SQL; the same work as ../../../shared/tpch/queries/q06.sql)
SELECT
    sum(l_extendedprice * l_discount) AS revenue
FROM
    lineitem
WHERE
    l_shipdate >= CAST('1994-01-01' AS date)
    AND l_shipdate < CAST(DATE '1994-01-01' + INTERVAL 12 MONTH AS DATE)
    AND l_discount BETWEEN 0.05
    AND 0.07
    AND l_quantity < 24;
