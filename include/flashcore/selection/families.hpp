// The template families `auto` chooses from, each with its heuristic: the variants it proposes
// for a problem when no tuning record covers the problem's bucket, best first. A heuristic is
// a pure function of the problem and the device facts whose branches cite the measurement
// behind them; it builds variants field by field (VariantRequest), never by spelling text.
//
// Adding a family: write src/selection/heuristic_<template>.cpp, declare its function here,
// add one line to auto_families() (src/selection/families.cpp). Core is not touched; the
// family's schema (min_sm, max_sm, problem checks) keeps it off devices it cannot run on.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "flashcore/attention.hpp"
#include "flashcore/device_info.hpp"
#include "flashcore/variant.hpp"

namespace flashcore {

using Heuristic = std::function<std::vector<VariantRequest>(const AttentionProblem&, const DeviceInfo&)>;

struct AutoFamily {
    std::string template_id;
    // Heuristic proposals of higher-ranked families are tried first (a Hopper-only family
    // above the portable one); tuned records of every family compete on time alone.
    int rank = 0;
    Heuristic heuristic;  // empty: the family takes part through tuning records only
};

// The families of this build (src/selection/families.cpp).
const std::vector<AutoFamily>& auto_families();

// The always-correct fallback when no family takes a problem.
inline constexpr const char* kFallbackTemplate = "reference_attention";

// attention_mma (FlashAttention-2-class mma.sync): src/selection/heuristic_attention_mma.cpp.
std::vector<VariantRequest> attention_mma_heuristic(const AttentionProblem& problem, const DeviceInfo& device);
// attention_wgmma (Hopper, sm_90a): src/selection/heuristic_attention_wgmma.cpp.
std::vector<VariantRequest> attention_wgmma_heuristic(const AttentionProblem& problem, const DeviceInfo& device);

}  // namespace flashcore
