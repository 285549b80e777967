TRUNCATE item_idx_cl, item_magento_cl;
VACUUM attr_none, attr_c, attr_plpgsql;
