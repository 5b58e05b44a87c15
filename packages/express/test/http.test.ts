import { describeMatrix, httpScenarios } from "../../../test/http/index.js";
import { expressCases } from "./apps.js";

describeMatrix(expressCases, httpScenarios);
