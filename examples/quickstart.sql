-- hiveish quickstart: a partitioned table from a small sample file, queried with HiveQL.
CREATE DATABASE IF NOT EXISTS quickstart;
USE quickstart;
DROP TABLE IF EXISTS sales;
DROP TABLE IF EXISTS sales_raw;
CREATE TABLE sales_raw (day STRING, region STRING, item STRING, qty INT, price DECIMAL(10,2))
  ROW FORMAT DELIMITED FIELDS TERMINATED BY ',';
LOAD DATA LOCAL INPATH '${hivevar:here}/sales.csv' OVERWRITE INTO TABLE sales_raw;
CREATE TABLE sales (item STRING, qty INT, price DECIMAL(10,2)) PARTITIONED BY (region STRING) STORED AS PARQUET;
SET hive.exec.dynamic.partition.mode=nonstrict;
INSERT OVERWRITE TABLE sales PARTITION (region) SELECT item, qty, price, region FROM sales_raw;
SHOW PARTITIONS sales;
SELECT region, count(*) AS orders, sum(qty * price) AS revenue FROM sales GROUP BY region ORDER BY region;
