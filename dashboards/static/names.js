/* Chinese and English names of emission sources, sequestration pools and practices. */
"use strict";
window.TZ_NAMES = {
  electricity: ["外购电力", "Electricity"],
  upstream_fertiliser: ["化肥生产", "Fertiliser manufacture"],
  fertiliser_n2o_direct: ["施肥 N2O 直接", "Soil N2O, direct"],
  fertiliser_n2o_indirect: ["施肥 N2O 间接", "Soil N2O, indirect"],
  urea_co2: ["尿素 CO2", "Urea CO2"],
  lime_co2: ["石灰 CO2", "Liming CO2"],
  fuel: ["燃油", "Fuel"],
  fuels: ["燃油", "Fuel"],
  diesel: ["柴油", "Diesel"],
  gasoline: ["汽油", "Gasoline"],
  natural_gas: ["天然气", "Natural gas"],
  gas: ["天然气", "Natural gas"],
  steam: ["蒸汽", "Steam"],
  heat: ["热力", "Heat"],
  pesticides: ["农药", "Pesticides"],
  pesticide: ["农药", "Pesticides"],
  upstream_pesticides: ["农药生产", "Pesticide manufacture"],
  organic_fertiliser: ["有机肥", "Organic fertiliser"],
  biomass: ["生物量", "Biomass"],
  soil: ["土壤有机碳", "Soil carbon"],
  soc: ["土壤有机碳", "Soil carbon"],
  soil_carbon: ["土壤有机碳", "Soil carbon"],
  grass_cover: ["生草栽培", "Grass cover"],
  straw_return: ["秸秆还田", "Straw return"],
  organic_substitution: ["有机肥替代", "Organic substitution"],
  scope1: ["范围一", "Scope 1"],
  scope2: ["范围二", "Scope 2"],
  scope3: ["范围三", "Scope 3"],
};
window.tzName = function (key) {
  const k = String(key);
  if (k.includes(".")) {  // "fuel.diesel": the part after the dot names it
    const sub = window.TZ_NAMES[k.split(".").pop()];
    if (sub) return sub;
  }
  const n = window.TZ_NAMES[k];
  return n || [String(key).replace(/_/g, " "), ""];
};
