"""一网统管, city operations. This first part is the city grid (万米单元网格, CJ/T 213): grids with
Beijing-style 15-digit codes (district + street + community + grid), their polygons imported from GeoJSON
in any of the four coordinate systems and exported in any of them, the departments and grid workers
(网格员) responsible for each, and the assignment of any point to its grid through an in-process H3 index."""
