-- TPC-H Q4 for DuckDB (standard SQL; the same work as ../../../shared/tpch/queries/q04.sql)
SELECT
    o_orderpriority,
    count(*) AS order_count
FROM
    orders
WHERE
    o_orderdate >= CAST('1993-07-01' AS date)
    AND o_orderdate < CAST(DATE '1993-07-01' + INTERVAL 3 MONTH AS DATE)
    AND EXISTS (
        SELECT
            *
        FROM
            lineitem
        WHERE
            l_orderkey = o_orderkey
            AND l_commitdate < l_receiptdate)
GROUP BY
    o_orderpriority
ORDER BY
    o_orderpriority;
