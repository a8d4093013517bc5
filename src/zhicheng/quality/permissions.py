"""Who acts in data quality. The module adds no permission of its own: the roles that already share and
manage data carry its steps, scoped to the departments concerned.

- a consumer reports wrong data: sharing.request or exchange.read over the consumer department;
- the provider answers corrections and sees its stale data and maintenance tasks: exchange.manage or
  catalog.manage over the provider department;
- the data authority opens and cancels maintenance tasks and supervises escalations: sharing.review over
  the provider department (and, for a correction, over the consumer's too).
Anyone who may read the catalog may see a resource's timeliness and completeness (no values, only counts).
"""

from __future__ import annotations

from zhicheng.catalog.permissions import CATALOG_MANAGE, CATALOG_READ
from zhicheng.exchange.permissions import EXCHANGE_MANAGE, EXCHANGE_READ
from zhicheng.sharing.permissions import SHARING_REQUEST, SHARING_REVIEW

CONSUMER = (SHARING_REQUEST, EXCHANGE_READ)
PROVIDER = (EXCHANGE_MANAGE, CATALOG_MANAGE)
AUTHORITY = SHARING_REVIEW
READ = CATALOG_READ
